import type { Knex } from 'knex';

/**
 * The data lifecycle (issue 13, src/lifecycle): a property's retention per data class, below its
 * plan's default (null: the plan's default), and the receipts of deletions of a person (GDPR /
 * CCPA). A receipt keeps counts and a hash of the deleted identifier, never the identifier.
 * Both go with their property (ON DELETE CASCADE): deleting a property leaves nothing with its id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('property_retention', (t) => {
    t.bigInteger('property_id').primary().references('properties.id').onDelete('CASCADE');
    t.integer('raw_days');
    t.integer('transformed_days');
    t.integer('warehouse_days');
    t.integer('dead_letter_days');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('deletion_receipts', (t) => {
    t.string('id', 64).primary();
    t.string('organization_id').notNullable();
    t.bigInteger('property_id').notNullable().references('properties.id').onDelete('CASCADE');
    t.string('subject_kind', 16).notNullable();
    t.string('subject_hash', 64).notNullable();
    t.string('reason', 500).notNullable();
    t.string('requested_by', 255);
    t.string('state', 16).notNullable();
    t.jsonb('counts').notNullable().defaultTo('{}');
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['property_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('deletion_receipts');
  await knex.schema.dropTable('property_retention');
}
