-- Control actions (pause, resume, cancel, retry) asked for on a controller that does not own the
-- deployment; its owner carries them out and records the outcome ('' done, else the error).
create table control_requests (
    id            bigserial primary key,
    deployment_id text not null references deployments (id) on delete cascade,
    action        text not null,
    requested_by  text not null,
    outcome       text,
    created_at    timestamptz not null default now(),
    completed_at  timestamptz
);
create index control_requests_open on control_requests (deployment_id, id) where outcome is null;
