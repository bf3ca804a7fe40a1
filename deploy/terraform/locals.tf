locals {
  # The Cloud Tasks queue's rate, concurrency, retries and dispatch deadline: one file read here
  # and by the code's tests and fakes, so they cannot disagree.
  queue = jsondecode(file("${path.module}/queue-settings.json"))

  # The composite indexes and field overrides the Firestore adapter's queries need, in the
  # Firebase CLI's format; written by the adapter's tests, never copied here by hand.
  firestore = jsondecode(file("${path.module}/../firestore.indexes.json"))
  firestore_indexes = {
    for index in local.firestore.indexes :
    join(" ", concat(
      [index.collectionGroup, try(index.queryScope, "COLLECTION")],
      [for f in index.fields : "${f.fieldPath}:${try(f.order, f.arrayConfig)}"],
    )) => index
  }
  firestore_field_overrides = {
    for o in try(local.firestore.fieldOverrides, []) : "${o.collectionGroup}.${o.fieldPath}" => o
  }

  bucket_name = "${var.project}-omtx-artifacts"
  # Cloud Run's deterministic URL of the api (the service cannot refer to its own uri).
  run_app_url  = "https://omtx-api-${data.google_project.this.number}.${var.region}.run.app"
  api_url      = coalesce(var.api_public_url, local.run_app_url)
  redis_url    = "redis://${google_redis_instance.rate_limits.host}:${google_redis_instance.rate_limits.port}"
  cors_origins = join(",", var.frontend_origins)

  # Both services listen here; Cloud Run sends requests and probes to it.
  port = 8080
  # The L4 instance: Cloud Run's minimum shape with one GPU. The worker prices each job on it
  # and the api estimates batch costs with it, so both are told the same.
  worker_gpus       = 1
  worker_vcpus      = 4
  worker_memory_gib = 16
  # boltz predict is killed past this, well inside the dispatch deadline, so the worker can
  # still record each ligand's outcome and answer.
  boltz_shard_time_limit_seconds = 1500

  # Secret Manager secrets of the api, by the variable they fill. Terraform creates them empty;
  # their values are added out of band (deploy/README.md), so none is in the state.
  api_secrets = {
    OMTX_JWT_SECRET     = "omtx-jwt-secret"
    OMTX_WEBHOOK_SECRET = "omtx-webhook-secret"
    OMTX_METRICS_TOKEN  = "omtx-metrics-token"
  }
}
