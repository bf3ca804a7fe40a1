# Artifacts, exports and MSAs (DESIGN.md's layout: jobs/{id}/…, batches/{id}/…). Read by
# browsers through V4 signed URLs only: no public access, one IAM policy for the whole bucket.
resource "google_storage_bucket" "artifacts" {
  name                        = local.bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Every object is written once under its own key; old versions would only cost storage.
  versioning {
    enabled = false
  }

  # Exports are derived from the jobs and made again on request (src/services/export-batch.ts).
  lifecycle_rule {
    condition {
      age            = var.export_retention_days
      matches_prefix = ["batches/"]
      matches_suffix = ["/batch_results.csv", "/batch_results.json", "/batch_top_poses.sdf", "/exports.json"]
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  # Signed URLs are fetched by the frontend's JavaScript (structure viewers, exports).
  dynamic "cors" {
    for_each = length(var.frontend_origins) > 0 ? [var.frontend_origins] : []
    content {
      origin          = cors.value
      method          = ["GET", "HEAD"]
      response_header = ["Content-Type", "Content-Length", "Content-Disposition"]
      max_age_seconds = 3600
    }
  }

  depends_on = [google_project_service.enabled]
}
