-- The last event sequence number per deployment, so an append can check and claim the next number
-- in the same statement that writes it.
alter table deployments add column last_seq bigint not null default 0;
update deployments d set last_seq = coalesce((select max(seq) from events e where e.deployment_id = d.id), 0);
