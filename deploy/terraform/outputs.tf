output "api_url" {
  description = "The GraphQL endpoint is this + /graphql."
  value       = local.api_url
}

output "worker_url" {
  value = google_cloud_run_v2_service.worker.uri
}

output "bucket" {
  value = google_storage_bucket.artifacts.name
}

output "tasks_queue" {
  value = google_cloud_tasks_queue.gpu.id
}

output "image_repository" {
  description = "Where deploy/cloudbuild.yaml pushes api and gpu-worker."
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}

output "service_accounts" {
  value = {
    api           = google_service_account.api.email
    worker        = google_service_account.worker.email
    tasks_invoker = google_service_account.tasks_invoker.email
    deployer      = google_service_account.deployer.email
  }
}

output "redis_host" {
  value = google_redis_instance.rate_limits.host
}
