# The L4 worker, the Cloud Tasks HTTP target (POST /tasks). This resource is the one
# definition of the service: test/deploy/worker-container.test.ts checks it against the worker
# image and Cloud Run's GPU rules, test/deploy/terraform.test.ts against the worker's settings.
resource "google_cloud_run_v2_service" "worker" {
  name        = "omtx-gpu-worker"
  location    = var.region
  description = "OMTX-Hub worker, Boltz-2 on one NVIDIA L4; invoked only by Cloud Tasks (OIDC)"
  # Reachable at its run.app URL, but Cloud Run's IAM check admits only ID tokens of a principal
  # holding run.invoker: the tasks-invoker account alone (iam.tf).
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection

  template {
    service_account = google_service_account.worker.email
    # One shard at a time per GPU (OMTX_WORKER_CONCURRENCY is 1 too): a further task gets
    # 429 and Cloud Tasks retries it, or another instance starts.
    max_instance_request_concurrency = 1
    # Cloud Tasks' longest dispatch deadline; a shard's boltz run is killed well inside it.
    timeout               = "${local.queue.dispatchDeadlineSeconds}s"
    execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
    # Cheaper GPU seconds with best-effort zonal failover: a task lost to a zone outage comes
    # back through Cloud Tasks' retries and the api's lease reaper.
    gpu_zonal_redundancy_disabled = true

    scaling {
      # Scale to zero between screens; at most one L4 per task in flight. The region's L4
      # quota (without zonal redundancy) must be at least this.
      min_instance_count = 0
      max_instance_count = local.queue.maxConcurrentDispatches
    }

    node_selector {
      accelerator = "nvidia-l4"
    }

    containers {
      name  = "worker"
      image = var.worker_image

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
        name  = "OMTX_WORKER_HOST"
        value = "0.0.0.0"
      }
      env {
        name  = "OMTX_WORKER_PORT"
        value = local.port
      }
      env {
        name  = "OMTX_WORKER_CONCURRENCY"
        value = "1"
      }
      env {
        name  = "OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS"
        value = local.boltz_shard_time_limit_seconds
      }
      env {
        name  = "OMTX_LOG_LEVEL"
        value = "info"
      }
      # The instance each job's usage is priced on: the limits below (instance-based billing
      # charges all of it for every second).
      env {
        name  = "OMTX_INSTANCE_GPUS"
        value = local.worker_gpus
      }
      env {
        name  = "OMTX_INSTANCE_VCPUS"
        value = local.worker_vcpus
      }
      env {
        name  = "OMTX_INSTANCE_MEMORY_GIB"
        value = local.worker_memory_gib
      }

      resources {
        # The minimum Cloud Run allows with an L4; Boltz runs on the GPU, the CPUs featurize
        # the next inputs. GPU services need CPU always allocated.
        limits = {
          cpu              = local.worker_vcpus
          memory           = "${local.worker_memory_gib}Gi"
          "nvidia.com/gpu" = local.worker_gpus
        }
        cpu_idle          = false
        startup_cpu_boost = true
      }

      # /healthz answers as soon as the worker listens; /models would also check each runner's
      # tools (seconds to start torch), slower than a probe should be.
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

      # With worker_weights_bucket: the weights read-only over the image's empty BOLTZ_CACHE.
      dynamic "volume_mounts" {
        for_each = var.worker_weights_bucket != "" ? [true] : []
        content {
          name       = "boltz-weights"
          mount_path = "/opt/boltz-cache"
        }
      }
    }

    dynamic "volumes" {
      for_each = var.worker_weights_bucket != "" ? [var.worker_weights_bucket] : []
      content {
        name = "boltz-weights"
        gcs {
          bucket    = volumes.value
          read_only = true
          # Boltz checks that mols/ exists; objects copied with `gcloud storage rsync` have no
          # directory placeholders, so FUSE must infer them.
          mount_options = ["implicit-dirs"]
        }
      }
    }
  }

  lifecycle {
    # Releases roll new images through deploy/cloudbuild.yaml.
    ignore_changes = [template[0].containers[0].image, client, client_version]
  }

  depends_on = [
    google_project_iam_member.worker_firestore,
    google_storage_bucket_iam_member.worker_objects,
    google_storage_bucket_iam_member.worker_reads_weights,
  ]
}
