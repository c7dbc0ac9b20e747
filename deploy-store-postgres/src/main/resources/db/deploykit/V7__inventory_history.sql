-- Every change of a server's inventory (what changed, when, seen how), appended in the same
-- transaction as the server document it changed. Kept after a server is removed, like any history.
create table inventory_history (
    id           bigserial primary key,
    server_id    text not null,
    package      text not null,
    from_version text,
    to_version   text,
    source       text not null,
    at           timestamptz not null
);
create index inventory_history_server on inventory_history (server_id, id);
