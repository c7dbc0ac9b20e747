-- Steps one controller asks another to run, because the other holds the node's agent connection.
create table relay_steps (
    id            bigserial primary key,
    server_id     text not null,
    step          jsonb not null,
    requested_by  text not null,
    claimed_by    text,
    claimed_until timestamptz,
    abandoned     boolean not null default false,
    lines         int not null default 0,
    outcome       jsonb,
    created_at    timestamptz not null default now()
);
create index relay_steps_open on relay_steps (id) where outcome is null and not abandoned;

create table relay_output (
    step_id bigint not null references relay_steps (id) on delete cascade,
    n       int not null,
    stream  text not null,
    line    text not null,
    primary key (step_id, n)
);
