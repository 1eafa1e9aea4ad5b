import type { Knex } from 'knex';

/**
 * Accounts (issue 10): e-mail verification, sessions in the metadata DB, single-use e-mailed
 * tokens (verify, password reset, invitation), an append-only audit log, key expiry for rotation
 * grace periods, and a credential version that every process polls so a revoked key stops
 * everywhere within a second or two.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.timestamp('email_verified_at', { useTz: true });
    t.timestamp('password_changed_at', { useTz: true });
  });
  await knex.schema.alterTable('api_keys', (t) => {
    // set by a rotation with a grace period: the old key works until then
    t.timestamp('expires_at', { useTz: true });
    t.string('created_by');
  });

  await knex.schema.createTable('sessions', (t) => {
    t.string('sid').primary();
    t.string('user_id').references('users.id').onDelete('CASCADE');
    t.jsonb('sess').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });

  await knex.schema.createTable('auth_tokens', (t) => {
    t.string('token_hash').primary();
    t.enu('kind', ['verify_email', 'password_reset', 'invitation']).notNullable();
    t.string('user_id').references('users.id').onDelete('CASCADE');
    t.string('organization_id').references('organizations.id').onDelete('CASCADE');
    t.string('email').notNullable();
    t.enu('role', ['owner', 'admin', 'editor', 'viewer']);
    t.string('created_by');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'kind']);
  });

  // No foreign key to organizations: the record of a deleted organisation is kept.
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.string('organization_id').notNullable();
    t.string('actor_user_id');
    t.enu('actor_kind', ['user', 'staff', 'operator']).notNullable();
    t.string('action').notNullable();
    t.string('target_type').notNullable();
    t.string('target_id');
    t.string('ip');
    t.jsonb('before');
    t.jsonb('after');
    t.text('reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'id']);
  });
  await knex.raw(`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`);
  await knex.raw(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);

  // One row; every change of a key, property or organisation bumps it (by trigger, so writes from
  // any process or tool count). Processes poll it and reload their credential cache on a change.
  await knex.schema.createTable('credential_version', (t) => {
    t.integer('id').primary();
    t.bigInteger('version').notNullable();
  });
  await knex('credential_version').insert({ id: 1, version: 1 });
  await knex.raw(`CREATE FUNCTION bump_credential_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE credential_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$`);
  // api_keys: not on last_used_at, which the edge stamps in batches every 30 s
  const events: Record<string, string> = {
    api_keys: 'INSERT OR DELETE OR UPDATE OF revoked_at, expires_at, scope, property_id, organization_id, hash',
    properties: 'INSERT OR UPDATE OR DELETE',
    organizations: 'INSERT OR UPDATE OR DELETE',
  };
  for (const [table, on] of Object.entries(events)) {
    await knex.raw(`CREATE TRIGGER ${table}_credential_version AFTER ${on} ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_version()`);
  }

  // Secrets shared by every process on this database (the session cookie's signing key).
  await knex.schema.createTable('app_secrets', (t) => {
    t.string('name').primary();
    t.text('value').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('app_secrets');
  for (const table of ['api_keys', 'properties', 'organizations']) await knex.raw(`DROP TRIGGER ${table}_credential_version ON ${table}`);
  await knex.raw('DROP FUNCTION bump_credential_version()');
  await knex.schema.dropTable('credential_version');
  await knex.schema.dropTable('audit_log');
  await knex.raw('DROP FUNCTION audit_log_append_only()');
  await knex.schema.dropTable('auth_tokens');
  await knex.schema.dropTable('sessions');
  await knex.schema.alterTable('api_keys', (t) => {
    t.dropColumn('expires_at');
    t.dropColumn('created_by');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('email_verified_at');
    t.dropColumn('password_changed_at');
  });
}
