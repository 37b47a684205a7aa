CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`agent_type` text DEFAULT '' NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`grace_ends_at` integer,
	`replaced_by` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `api_tokens_org_idx` ON `api_tokens` (`org_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text,
	`action` text NOT NULL,
	`actor` text NOT NULL,
	`target` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`remote` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_org_id_idx` ON `audit_events` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `daily_rollups` (
	`org_id` text NOT NULL,
	`day` integer NOT NULL,
	`repo_id` integer NOT NULL,
	`agent_type` text NOT NULL,
	`executions` integer NOT NULL,
	`pass` integer NOT NULL,
	`warn` integer NOT NULL,
	`fail` integer NOT NULL,
	`coverage_sum` real NOT NULL,
	PRIMARY KEY(`org_id`, `day`, `repo_id`, `agent_type`),
	FOREIGN KEY (`repo_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `executions` (
	`id` text PRIMARY KEY NOT NULL,
	`repo_id` integer NOT NULL,
	`org_id` text NOT NULL,
	`branch` text NOT NULL,
	`outcome` text NOT NULL,
	`delta` real NOT NULL,
	`coverage` real NOT NULL,
	`baseline` real,
	`warn_threshold` real NOT NULL,
	`fail_threshold` real NOT NULL,
	`strict_mode` integer DEFAULT false NOT NULL,
	`commit` text,
	`run_at` integer,
	`agent_type` text DEFAULT '' NOT NULL,
	`token_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`repo_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `executions_repo_list_idx` ON `executions` (`repo_id`,`id`,`branch`,`outcome`,`delta`,`coverage`,`baseline`,`commit`,`created_at`);--> statement-breakpoint
CREATE INDEX `executions_repo_branch_id_idx` ON `executions` (`repo_id`,`branch`,`id`,`coverage`);--> statement-breakpoint
CREATE INDEX `executions_org_created_idx` ON `executions` (`org_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`org_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`execution_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`org_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `organisations` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`plan` text DEFAULT 'free' NOT NULL,
	`billing_status` text DEFAULT 'active' NOT NULL,
	`stripe_customer_id` text,
	`razorpay_customer_id` text,
	`plan_event_at` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organisations_slug_unique` ON `organisations` (`slug`);--> statement-breakpoint
CREATE INDEX `organisations_stripe_customer_idx` ON `organisations` (`stripe_customer_id`);--> statement-breakpoint
CREATE INDEX `organisations_razorpay_customer_idx` ON `organisations` (`razorpay_customer_id`);--> statement-breakpoint
CREATE TABLE `repositories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`default_branch` text DEFAULT 'main' NOT NULL,
	`private` integer DEFAULT false NOT NULL,
	`execution_count` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repositories_org_name_idx` ON `repositories` (`org_id`,`name`);--> statement-breakpoint
CREATE INDEX `repositories_org_created_idx` ON `repositories` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`org_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_token_hash_unique` ON `sessions` (`token_hash`);--> statement-breakpoint
CREATE INDEX `sessions_expires_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`provider` text NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`org_id` text,
	`event_created_at` integer,
	`result` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`provider`, `event_id`)
);
