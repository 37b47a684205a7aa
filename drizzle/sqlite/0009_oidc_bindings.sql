CREATE TABLE `oidc_bindings` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider` text NOT NULL,
	`repository` text NOT NULL,
	`repo` text NOT NULL,
	`workflow` text,
	`environment` text,
	`repository_id` text,
	`repository_owner_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oidc_bindings_repository_idx` ON `oidc_bindings` (`provider`,`repository`);--> statement-breakpoint
CREATE INDEX `oidc_bindings_org_idx` ON `oidc_bindings` (`org_id`,`created_at`);