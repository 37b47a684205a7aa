-- A session id is the capability DELETE /v1/sessions/{id} accepts: audit rows written before sessions had a
-- public reference named it. Those ids are removed (the rows stay; new rows carry the reference instead).
UPDATE `audit_events` SET `target` = NULL, `metadata` = json_remove(`metadata`, '$.session_id') WHERE `action` IN ('session.create', 'session.delete');
