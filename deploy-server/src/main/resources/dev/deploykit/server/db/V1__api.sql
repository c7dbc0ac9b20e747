-- The REST API's own records, beside the store's tables in the same schema.
create table api_audit (
    seq     bigserial primary key,
    at      timestamptz not null,
    actor   text not null,
    action  text not null,
    target  text not null,
    status  int not null,
    detail  text not null
);

-- Responses of writes made under an Idempotency-Key, per caller; status 0 while the first request runs.
create table api_idempotency (
    actor       text not null,
    key         text not null,
    request     text not null,
    status      int not null,
    body        text not null,
    created_at  timestamptz not null,
    primary key (actor, key)
);
