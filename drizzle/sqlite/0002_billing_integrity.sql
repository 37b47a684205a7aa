ALTER TABLE `organisations` ADD `stripe_subscription_id` text;--> statement-breakpoint
ALTER TABLE `organisations` ADD `razorpay_subscription_id` text;--> statement-breakpoint
CREATE INDEX `organisations_stripe_subscription_idx` ON `organisations` (`stripe_subscription_id`);--> statement-breakpoint
CREATE INDEX `organisations_razorpay_subscription_idx` ON `organisations` (`razorpay_subscription_id`);--> statement-breakpoint
ALTER TABLE `webhook_events` ADD `payload_hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_events_payload_idx` ON `webhook_events` (`provider`,`payload_hash`);