-- Desired state (V7; V6 is kept for the online-status change developed alongside).
-- Pins: one version of a package per group, with the rollout strategy as a plan document.
create table pins (
    group_name  text not null,
    package     text not null,
    version     text not null,
    strategy    jsonb not null,
    pinned_by   text not null,
    pinned_at   timestamptz not null,
    primary key (group_name, package)
);

-- Servers the reconciler leaves alone.
create table held_servers (
    server_id   text primary key
);

-- Every pin, unpin, hold and release, in order; appended in the same transaction as the change.
create table pin_history (
    id          bigserial primary key,
    doc         jsonb not null
);

-- Named leases: work exactly one controller does at a time (reconciling one pin), with the same
-- owner, expiry and epoch rules as the deployments' leases.
create table leases (
    name        text primary key,
    owner       text,
    lease_until timestamptz,
    epoch       bigint not null default 0
);
