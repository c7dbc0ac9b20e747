-- DeployKit store, version 1.
create table servers (
    id          text primary key,
    doc         jsonb not null
);

create table server_groups (
    name        text primary key,
    doc         jsonb not null
);

create table packages (
    name         text not null,
    version      text not null,
    format       text not null,
    sha256       text not null,
    size         bigint not null,
    metadata     jsonb not null,
    published_at timestamptz not null,
    ordinal      bigserial,
    primary key (name, version)
);

create table deployments (
    id          text primary key,
    plan        jsonb not null,
    batches     jsonb not null,
    status      text not null,
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    owner       text,
    lease_until timestamptz,
    epoch       bigint not null default 0
);
create index deployments_unfinished on deployments (created_at) where status not in ('SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK');

create table node_tasks (
    deployment_id    text not null references deployments (id),
    task_id          text not null,
    server_id        text not null,
    batch            int not null,
    status           text not null,
    step             text not null,
    previous_version text,
    target_version   text,
    changed          boolean not null,
    message          text not null,
    attempt          int not null,
    updated_at       timestamptz not null,
    primary key (deployment_id, task_id)
);
create index node_tasks_by_server on node_tasks (server_id, updated_at);

-- Append-only: rows are inserted with the next sequence number of their deployment, never updated.
create table events (
    deployment_id text not null references deployments (id),
    seq           bigint not null,
    time          timestamptz not null,
    kind          text not null,
    server_id     text,
    doc           jsonb not null,
    primary key (deployment_id, seq)
);
create index events_by_server on events (server_id, time) where server_id is not null;
create index events_by_time on events (time);
