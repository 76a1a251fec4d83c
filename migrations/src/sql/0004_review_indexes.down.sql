DROP INDEX review_tasks_decided;
DROP INDEX audit_log_subject;
