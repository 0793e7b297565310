DROP TABLE backup_policies;
DROP TABLE backups;
