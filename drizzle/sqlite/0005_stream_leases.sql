CREATE TABLE `stream_leases` (
	`id` text PRIMARY KEY NOT NULL,
	`instance` text NOT NULL,
	`credential` text NOT NULL,
	`org_id` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `stream_leases_org_idx` ON `stream_leases` (`org_id`);--> statement-breakpoint
CREATE INDEX `stream_leases_instance_idx` ON `stream_leases` (`instance`);