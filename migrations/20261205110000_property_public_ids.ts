import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * Public ids and who may write (issue 9 §1). `site_id` is a property's random public id for
 * protocols whose id field is free-form (Snowplow `aid`, Umami `website`): the sequential numeric
 * property id is no credential any more. `allowed_hostnames` lists the hosts browser hits may come
 * from (`*.acme.test` for any subdomain); empty means the property's domain and its subdomains.
 * `plans.rate_burst` is the token bucket's size per plan (at least 10x the per-second rate).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('properties', (t) => {
    t.string('site_id', 64);
    t.jsonb('allowed_hostnames').notNullable().defaultTo('[]');
  });
  for (const { id } of await knex('properties').select('id')) {
    await knex('properties').where({ id }).update({ site_id: randomUUID() });
  }
  // gen_random_uuid() is built into PostgreSQL 13+ (and PGlite): rows inserted elsewhere get one too
  await knex.raw('ALTER TABLE properties ALTER COLUMN site_id SET DEFAULT gen_random_uuid()::text, ALTER COLUMN site_id SET NOT NULL');
  await knex.schema.alterTable('properties', (t) => {
    t.unique(['site_id']);
  });

  // 0 (a plan added without one) means 10x its rate; the bucket is never smaller than that
  await knex.schema.alterTable('plans', (t) => {
    t.integer('rate_burst').notNullable().defaultTo(0);
  });
  await knex('plans').update({ rate_burst: knex.raw('rate_limit_per_second * 10') });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => {
    t.dropColumn('rate_burst');
  });
  await knex.schema.alterTable('properties', (t) => {
    t.dropUnique(['site_id']);
    t.dropColumn('allowed_hostnames');
    t.dropColumn('site_id');
  });
}
