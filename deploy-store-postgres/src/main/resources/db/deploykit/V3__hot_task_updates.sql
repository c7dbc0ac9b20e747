-- Every node-task transition rewrites its row. Indexing updated_at kept those updates from being
-- HOT (heap-only) updates, so each one also wrote two index entries; tasks are looked up by server,
-- not by time (the event log has the by-server-and-time index). Leave room on each page for HOT.
drop index node_tasks_by_server;
create index node_tasks_by_server on node_tasks (server_id);
alter table node_tasks set (fillfactor = 70);
alter table deployments set (fillfactor = 50);
