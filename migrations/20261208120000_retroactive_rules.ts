import type { Knex } from 'knex';

/**
 * Retroactive rules (issue 13): a property's internal-traffic rules and filter state, its extra
 * bot patterns and its own channel group, read by the collector (internal traffic) and the
 * transform (all three). JSON documents validated by the API (`src/tenancy/property-rules.ts`);
 * `channel_rules` NULL means GA4's default channel group.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('properties', (t) => {
    t.jsonb('internal_traffic').notNullable().defaultTo(knex.raw(`'{"rules": [], "filter": "active"}'::jsonb`));
    t.jsonb('bot_patterns').notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.jsonb('channel_rules');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('properties', (t) => {
    t.dropColumn('channel_rules');
    t.dropColumn('bot_patterns');
    t.dropColumn('internal_traffic');
  });
}
