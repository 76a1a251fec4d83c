-- What the review service reads by, off the pipeline's hot path: a declaration's page shows its
-- audit trail (audit_log by subject), and the list of decided reviews is newest first.
CREATE INDEX audit_log_subject ON audit_log (subject, id);
CREATE INDEX review_tasks_decided ON review_tasks (decided_at DESC, declaration_id DESC)
    WHERE state = 'decided';
