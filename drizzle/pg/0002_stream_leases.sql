CREATE TABLE "stream_leases" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"instance" text COLLATE "C" NOT NULL,
	"credential" text COLLATE "C" NOT NULL,
	"org_id" text COLLATE "C" NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "stream_leases_org_idx" ON "stream_leases" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "stream_leases_instance_idx" ON "stream_leases" USING btree ("instance");