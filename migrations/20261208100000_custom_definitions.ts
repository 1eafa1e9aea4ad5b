import type { Knex } from 'knex';

/**
 * Custom definitions per property (issue 14): GA4's custom dimensions (event- or user-scoped, over
 * an event parameter or a user property) and custom metrics (event-scoped, over a numeric event
 * parameter), reported as `customEvent:<parameter>` / `customUser:<parameter>`. Archiving sets
 * `archived_at`; an archived definition stops being accepted or listed, and its parameter can be
 * registered again. Reports read the parameters from the warehouse, so a definition applies to
 * data loaded before it existed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('custom_definitions', (t) => {
    t.string('id', 36).primary();
    t.bigInteger('property_id').notNullable().references('properties.id').onDelete('CASCADE');
    t.string('kind', 16).notNullable(); // dimension | metric
    t.string('scope', 8).notNullable(); // EVENT | USER
    t.string('parameter_name', 40).notNullable();
    t.string('display_name', 82).notNullable();
    t.string('description', 150).notNullable().defaultTo('');
    t.string('measurement_unit', 16); // metrics: STANDARD | CURRENCY | SECONDS | ...
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('archived_at', { useTz: true });
  });
  // one active definition per (property, kind, scope, parameter)
  await knex.raw('CREATE UNIQUE INDEX custom_definitions_active_uq ON custom_definitions (property_id, kind, scope, parameter_name) WHERE archived_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('custom_definitions');
}
