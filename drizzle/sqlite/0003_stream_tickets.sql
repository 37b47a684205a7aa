CREATE TABLE `stream_tickets` (
	`ticket_hash` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`repo` text NOT NULL,
	`parent` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `stream_tickets_expires_idx` ON `stream_tickets` (`expires_at`);