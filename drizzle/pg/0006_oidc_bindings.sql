CREATE TABLE "oidc_bindings" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"org_id" text COLLATE "C" NOT NULL,
	"provider" text COLLATE "C" NOT NULL,
	"repository" text COLLATE "C" NOT NULL,
	"repo" text COLLATE "C" NOT NULL,
	"workflow" text COLLATE "C",
	"environment" text COLLATE "C",
	"repository_id" text COLLATE "C",
	"repository_owner_id" text COLLATE "C",
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "oidc_bindings" ADD CONSTRAINT "oidc_bindings_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "oidc_bindings_repository_idx" ON "oidc_bindings" USING btree ("provider","repository");--> statement-breakpoint
CREATE INDEX "oidc_bindings_org_idx" ON "oidc_bindings" USING btree ("org_id","created_at");