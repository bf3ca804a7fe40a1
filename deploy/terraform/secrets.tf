# Created empty: add each value as a version out of band (deploy/README.md) before the first
# full apply, so no secret is ever in Terraform's state or in this repository.
resource "google_secret_manager_secret" "api" {
  for_each  = local.api_secrets
  secret_id = each.value
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "api_reads" {
  for_each  = local.api_secrets
  secret_id = google_secret_manager_secret.api[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.api.member
}
