# The queue the api enqueues shards on and Cloud Tasks dispatches to the worker's POST /tasks
# with the tasks-invoker account's OIDC token. Every number comes from queue-settings.json.
resource "google_cloud_tasks_queue" "gpu" {
  name     = local.queue.name
  location = var.region

  rate_limits {
    max_dispatches_per_second = local.queue.maxDispatchesPerSecond
    # One task per L4 instance (concurrency 1): more in flight would only be answered 429.
    max_concurrent_dispatches = local.queue.maxConcurrentDispatches
  }

  retry_config {
    max_attempts  = local.queue.maxAttempts
    min_backoff   = "${local.queue.minBackoffSeconds}s"
    max_backoff   = "${local.queue.maxBackoffSeconds}s"
    max_doublings = local.queue.maxDoublings
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.enabled]
}
