-- The console lists who started each deployment: the audit looked up by action and target.
create index api_audit_action_target on api_audit (action, target);
