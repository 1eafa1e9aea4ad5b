import type { Knex } from 'knex';

/**
 * Billing (issue 12): every change of an organisation's plan, recorded by a trigger on
 * `organizations.plan_id` whatever made it (the Stripe webhook, `tally tenant set-plan` over the
 * admin API or straight on the database), so the worker can re-drive the dead letters an upgrade
 * now admits (`src/billing/quota-redrive.ts`). `handled_at`: when the worker took it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('plan_changes', (t) => {
    t.bigIncrements('id');
    t.string('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.string('from_plan_id').notNullable();
    t.string('to_plan_id').notNullable();
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('handled_at', { useTz: true });
    t.index(['organization_id']);
  });
  await knex.raw(`CREATE INDEX plan_changes_pending ON plan_changes (id) WHERE handled_at IS NULL`);
  await knex.raw(`CREATE FUNCTION record_plan_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO plan_changes (organization_id, from_plan_id, to_plan_id) VALUES (NEW.id, OLD.plan_id, NEW.plan_id);
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER organizations_plan_change AFTER UPDATE OF plan_id ON organizations
    FOR EACH ROW WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id) EXECUTE FUNCTION record_plan_change()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER organizations_plan_change ON organizations');
  await knex.raw('DROP FUNCTION record_plan_change()');
  await knex.schema.dropTable('plan_changes');
}
