-- Feature flags the application reads (see README: "Feature-flag contract").
-- Idempotent: `FlagStore.ensure_schema()` runs it on every `rollbook flags set`.
CREATE SCHEMA IF NOT EXISTS rollbook;

CREATE TABLE IF NOT EXISTS rollbook.flags (
    name       text PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL DEFAULT current_user
);

-- Append-only: every change, with who made it and the run that made it.
CREATE TABLE IF NOT EXISTS rollbook.flag_audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL,
    old_value  jsonb,
    new_value  jsonb       NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text        NOT NULL,
    run_id     text
);
CREATE INDEX IF NOT EXISTS flag_audit_changed_at ON rollbook.flag_audit (changed_at);

-- Enforced for every role, the owner included (privileges alone do not bind the owner).
CREATE OR REPLACE FUNCTION rollbook.flag_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rollbook.flag_audit is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER flag_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON rollbook.flag_audit
    FOR EACH ROW EXECUTE FUNCTION rollbook.flag_audit_append_only();

CREATE OR REPLACE TRIGGER flag_audit_no_truncate
    BEFORE TRUNCATE ON rollbook.flag_audit
    FOR EACH STATEMENT EXECUTE FUNCTION rollbook.flag_audit_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON rollbook.flag_audit FROM PUBLIC;
