import type { Knex } from 'knex';

/**
 * Billing (issue 12). The plan definition in code (`src/domain/plans.ts`) is authoritative: the
 * `plans` table keeps only the plan ids (the organisations' foreign key) and the Stripe ids that
 * `tally billing sync-plans` stored. Its number columns are emptied and made nullable so no reader
 * can take a stale limit from them (`down` writes back the numbers they held).
 *
 * - `billing_accounts`: an organisation's Stripe customer and subscription state; `state_at` is the
 *   `created` time (s) of the Stripe subscription event that last set it (`payment_state_at`: of the
 *   last invoice event), so an older event never overwrites newer state.
 * - `billing_webhook_events`: Stripe event ids already applied (each is applied once).
 * - `billing_notices`: the quota e-mails sent (80 %, 100 %, hard cap), once per organisation and month.
 * - `billing_meter_reports`: each organisation-hour's usage sent to Stripe as a meter event.
 */
const NUMBERS = ['name', 'monthly_event_quota', 'rate_limit_per_second', 'max_properties'] as const;

export async function up(knex: Knex): Promise<void> {
  for (const c of NUMBERS) await knex.raw(`ALTER TABLE plans ALTER COLUMN ${c} DROP NOT NULL`);
  await knex('plans').update({ name: null, monthly_event_quota: null, rate_limit_per_second: null, max_properties: null, price_cents: 0, rate_burst: 0 });
  await knex.schema.alterTable('plans', (t) => {
    t.string('stripe_product_id');
    t.string('stripe_overage_price_id');
  });

  await knex.schema.createTable('billing_accounts', (t) => {
    t.string('organization_id').primary().references('organizations.id').onDelete('CASCADE');
    t.string('stripe_customer_id').unique();
    t.string('stripe_subscription_id');
    t.string('status').notNullable().defaultTo('none');
    t.string('subscription_plan_id');
    t.timestamp('current_period_end', { useTz: true });
    t.boolean('cancel_at_period_end').notNullable().defaultTo(false);
    t.timestamp('payment_failed_at', { useTz: true });
    t.bigInteger('state_at').notNullable().defaultTo(0);
    t.bigInteger('payment_state_at').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('billing_webhook_events', (t) => {
    t.string('id').primary();
    t.string('type').notNullable();
    t.string('organization_id');
    t.string('outcome').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('billing_notices', (t) => {
    t.string('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.string('month', 7).notNullable();
    t.string('threshold').notNullable();
    t.timestamp('sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'month', 'threshold']);
  });
  await knex.schema.createTable('billing_meter_reports', (t) => {
    t.string('organization_id').notNullable();
    t.timestamp('hour', { useTz: true }).notNullable();
    t.bigInteger('events').notNullable();
    t.string('identifier').notNullable().unique();
    t.timestamp('sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'hour']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['billing_meter_reports', 'billing_notices', 'billing_webhook_events', 'billing_accounts']) await knex.schema.dropTable(t);
  await knex.schema.alterTable('plans', (t) => {
    t.dropColumn('stripe_overage_price_id');
    t.dropColumn('stripe_product_id');
  });
  const before: Record<string, [string, number, number, number, number]> = {
    free: ['Free', 1_000_000, 1_000, 3, 0],
    growth: ['Growth', 50_000_000, 20_000, 50, 9_900],
    scale: ['Scale', 1_000_000_000, 200_000, 1_000, 99_900],
  };
  for (const id of await knex('plans').pluck('id')) {
    const [name, quota, rate, props, price] = before[id] ?? [id, 1_000_000, 1_000, 3, 0];
    await knex('plans')
      .where({ id })
      .update({ name, monthly_event_quota: quota, rate_limit_per_second: rate, max_properties: props, price_cents: price, rate_burst: rate * 10 });
  }
  for (const c of NUMBERS) await knex.raw(`ALTER TABLE plans ALTER COLUMN ${c} SET NOT NULL`);
}
