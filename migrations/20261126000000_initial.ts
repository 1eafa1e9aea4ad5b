import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('plans', (t) => {
    t.string('id').primary();
    t.string('name').notNullable();
    t.bigInteger('monthly_event_quota').notNullable();
    t.integer('rate_limit_per_second').notNullable();
    t.integer('max_properties').notNullable();
    t.integer('price_cents').notNullable().defaultTo(0);
    t.string('stripe_price_id');
  });
  await knex('plans').insert([
    { id: 'free', name: 'Free', monthly_event_quota: 1_000_000, rate_limit_per_second: 1_000, max_properties: 3, price_cents: 0 },
    { id: 'growth', name: 'Growth', monthly_event_quota: 50_000_000, rate_limit_per_second: 20_000, max_properties: 50, price_cents: 9_900 },
    { id: 'scale', name: 'Scale', monthly_event_quota: 1_000_000_000, rate_limit_per_second: 200_000, max_properties: 1_000, price_cents: 99_900 },
  ]);

  await knex.schema.createTable('organizations', (t) => {
    t.string('id').primary();
    t.string('name').notNullable();
    t.string('plan_id').notNullable().references('plans.id').defaultTo('free');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('users', (t) => {
    t.string('id').primary();
    t.string('email').notNullable().unique();
    t.string('name');
    t.string('password_hash');
    t.boolean('is_staff').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('memberships', (t) => {
    t.string('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.string('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.enu('role', ['owner', 'admin', 'editor', 'viewer']).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'user_id']);
  });

  // Numeric property ids, as GA4's are; started high so they look like GA4 ids.
  await knex.raw('CREATE SEQUENCE property_id_seq START WITH 400000001');
  await knex.schema.createTable('properties', (t) => {
    t.bigInteger('id').primary().defaultTo(knex.raw("nextval('property_id_seq')"));
    t.string('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.string('name').notNullable();
    t.string('domain').notNullable();
    t.string('measurement_id').notNullable().unique();
    t.string('time_zone').notNullable().defaultTo('UTC');
    t.string('currency_code', 3).notNullable().defaultTo('USD');
    t.integer('session_timeout_minutes').notNullable().defaultTo(30);
    t.integer('engaged_session_seconds').notNullable().defaultTo(10);
    t.jsonb('key_events')
      .notNullable()
      .defaultTo(JSON.stringify(['purchase']));
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id']);
  });

  // Only hashes are stored; the key itself is shown once at creation.
  await knex.schema.createTable('api_keys', (t) => {
    t.string('id').primary();
    t.string('organization_id').notNullable().references('organizations.id').onDelete('CASCADE');
    t.bigInteger('property_id').references('properties.id').onDelete('CASCADE');
    t.enu('scope', ['ingest', 'read', 'mp_secret']).notNullable();
    t.string('name').notNullable();
    t.string('prefix').notNullable();
    t.string('hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.index(['organization_id']);
  });

  // What the archiver wrote: the transform finds changed partitions here, not by listing.
  await knex.schema.createTable('raw_objects', (t) => {
    t.string('key').primary();
    t.string('tenant_id').notNullable();
    t.bigInteger('property_id').notNullable();
    t.integer('records').notNullable();
    t.bigInteger('min_event_ms').notNullable();
    t.bigInteger('max_event_ms').notNullable();
    t.bigInteger('seq').notNullable();
    t.timestamp('archived_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['property_id', 'seq']);
  });
  await knex.raw('CREATE SEQUENCE raw_object_seq');

  await knex.schema.createTable('pipeline_state', (t) => {
    t.bigInteger('property_id').primary();
    t.string('tenant_id').notNullable();
    t.bigInteger('transformed_seq').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('partitions', (t) => {
    t.string('tenant_id').notNullable();
    t.bigInteger('property_id').notNullable();
    t.string('table_name').notNullable();
    t.date('dt').notNullable();
    t.jsonb('object_keys').notNullable();
    t.bigInteger('rows').notNullable();
    t.timestamp('transformed_at', { useTz: true }).notNullable();
    t.timestamp('loaded_at', { useTz: true });
    t.bigInteger('loaded_rows');
    t.primary(['property_id', 'table_name', 'dt']);
  });

  // Audit trail of job runs (transform, load, replay, deletion ...).
  await knex.schema.createTable('job_runs', (t) => {
    t.string('id').primary();
    t.string('name').notNullable();
    t.string('tenant_id');
    t.bigInteger('property_id');
    t.jsonb('data').notNullable();
    t.enu('status', ['running', 'succeeded', 'failed']).notNullable();
    t.jsonb('result');
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.index(['name', 'started_at']);
  });

  await knex.schema.createTable('usage_hourly', (t) => {
    t.string('tenant_id').notNullable();
    t.bigInteger('property_id').notNullable();
    t.timestamp('hour', { useTz: true }).notNullable();
    t.bigInteger('events').notNullable().defaultTo(0);
    t.bigInteger('dead_letters').notNullable().defaultTo(0);
    t.primary(['property_id', 'hour']);
    t.index(['tenant_id', 'hour']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of [
    'usage_hourly',
    'job_runs',
    'partitions',
    'pipeline_state',
    'raw_objects',
    'api_keys',
    'properties',
    'memberships',
    'users',
    'organizations',
    'plans',
  ]) {
    await knex.schema.dropTableIfExists(t);
  }
  await knex.raw('DROP SEQUENCE IF EXISTS raw_object_seq');
  await knex.raw('DROP SEQUENCE IF EXISTS property_id_seq');
}
