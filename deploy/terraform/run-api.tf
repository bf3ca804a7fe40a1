# The GraphQL api. It authenticates every request itself (API keys, HS256 JWTs), so Cloud Run
# lets everyone reach it (iam member below).
resource "google_cloud_run_v2_service" "api" {
  name                = "omtx-api"
  location            = var.region
  description         = "OMTX-Hub GraphQL api"
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection

  template {
    service_account = google_service_account.api.email
    # Subscriptions are WebSockets: a request lasts as long as the socket, at most an hour.
    timeout                          = "3600s"
    max_instance_request_concurrency = 250

    scaling {
      # One instance always warm: the lease reaper and webhook deliveries run in it.
      min_instance_count = 1
      max_instance_count = var.api_max_instances
    }

    # Direct VPC egress to Memorystore; everything else leaves as before.
    vpc_access {
      network_interfaces {
        network    = google_compute_network.vpc.name
        subnetwork = google_compute_subnetwork.run.name
      }
      egress = "PRIVATE_RANGES_ONLY"
    }

    containers {
      name  = "api"
      image = var.api_image

      ports {
        name           = "http1"
        container_port = local.port
      }

      env {
        name  = "OMTX_BACKEND"
        value = "gcp"
      }
      env {
        name  = "OMTX_GCP_PROJECT"
        value = var.project
      }
      env {
        name  = "OMTX_FIRESTORE_DATABASE"
        value = google_firestore_database.main.name
      }
      env {
        name  = "OMTX_GCS_BUCKET"
        value = google_storage_bucket.artifacts.name
      }
      env {
        name  = "OMTX_TASKS_LOCATION"
        value = google_cloud_tasks_queue.gpu.location
      }
      env {
        name  = "OMTX_TASKS_QUEUE"
        value = google_cloud_tasks_queue.gpu.name
      }
      env {
        name  = "OMTX_TASKS_SERVICE_ACCOUNT"
        value = google_service_account.tasks_invoker.email
      }
      env {
        name  = "OMTX_TASKS_DISPATCH_DEADLINE_SECONDS"
        value = local.queue.dispatchDeadlineSeconds
      }
      env {
        name  = "OMTX_TASK_MAX_ATTEMPTS"
        value = local.queue.maxAttempts
      }
      env {
        name  = "OMTX_WORKER_URL"
        value = google_cloud_run_v2_service.worker.uri
      }
      env {
        name  = "OMTX_PUBLIC_URL"
        value = local.api_url
      }
      env {
        name  = "OMTX_REDIS_URL"
        value = local.redis_url
      }
      env {
        name  = "OMTX_HOST"
        value = "0.0.0.0"
      }
      env {
        name  = "OMTX_PORT"
        value = local.port
      }
      env {
        name  = "OMTX_LOG_LEVEL"
        value = "info"
      }
      env {
        name  = "OMTX_CORS_ORIGINS"
        value = local.cors_origins
      }
      # Reachable from anywhere: every request needs an API key or a JWT.
      env {
        name  = "OMTX_AUTH_REQUIRED"
        value = "true"
      }
      env {
        name  = "OMTX_JWT_ISSUER"
        value = var.jwt_issuer
      }
      env {
        name  = "OMTX_JWT_AUDIENCE"
        value = var.jwt_audience
      }
      # The L4 worker's instance and shard limit, for batch cost estimates and shard sizes.
      env {
        name  = "OMTX_BOLTZ_INSTANCE_GPUS"
        value = local.worker_gpus
      }
      env {
        name  = "OMTX_BOLTZ_INSTANCE_VCPUS"
        value = local.worker_vcpus
      }
      env {
        name  = "OMTX_BOLTZ_INSTANCE_MEMORY_GIB"
        value = local.worker_memory_gib
      }
      env {
        name  = "OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS"
        value = local.boltz_shard_time_limit_seconds
      }
      env {
        name = "OMTX_JWT_SECRET"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.api["OMTX_JWT_SECRET"].secret_id
            version = "latest"
          }
        }
      }
      env {
        name = "OMTX_WEBHOOK_SECRET"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.api["OMTX_WEBHOOK_SECRET"].secret_id
            version = "latest"
          }
        }
      }
      env {
        name = "OMTX_METRICS_TOKEN"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.api["OMTX_METRICS_TOKEN"].secret_id
            version = "latest"
          }
        }
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
        # Subscriptions, the reaper and webhook deliveries work between requests.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      startup_probe {
        http_get {
          path = "/healthz"
          port = local.port
        }
        period_seconds    = 2
        timeout_seconds   = 1
        failure_threshold = 30
      }
      liveness_probe {
        http_get {
          path = "/healthz"
          port = local.port
        }
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
      }
    }
  }

  lifecycle {
    ignore_changes = [template[0].containers[0].image, client, client_version]
  }

  depends_on = [
    google_project_iam_member.api_firestore,
    google_storage_bucket_iam_member.api_objects,
    google_secret_manager_secret_iam_member.api_reads,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "api_public" {
  name     = google_cloud_run_v2_service.api.name
  location = google_cloud_run_v2_service.api.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}
