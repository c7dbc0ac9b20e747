-- Saved script sets (V8; V7 is taken by the live inventory change developed alongside).
-- A saved version never changes: rows are inserted once and never updated.
create table script_sets (
    name        text not null,
    version     text not null,
    doc         jsonb not null,
    saved_at    timestamptz not null default now(),
    seq         bigserial,
    primary key (name, version)
);
