-- A rule's firing may create a task for the sensor's owning organization: the episode links it.
ALTER TABLE rule_episodes ADD COLUMN task_id INTEGER;
