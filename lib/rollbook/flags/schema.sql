-- Feature flags the application reads (see README: "Feature-flag contract").
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
