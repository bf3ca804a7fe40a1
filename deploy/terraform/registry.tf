resource "google_artifact_registry_repository" "images" {
  repository_id = "omtx"
  location      = var.region
  format        = "DOCKER"
  description   = "OMTX-Hub images: api and gpu-worker (deploy/cloudbuild.yaml pushes them)"

  # The worker image is several GB (torch, CUDA wheels, weights): keep the recent ones only.
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s" # 30 days
    }
  }

  depends_on = [google_project_service.enabled]
}
