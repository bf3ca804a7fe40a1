# One service account per role, each with only what its code calls.

resource "google_service_account" "api" {
  account_id   = "omtx-api"
  display_name = "OMTX-Hub api"
  depends_on   = [google_project_service.enabled]
}

resource "google_service_account" "worker" {
  account_id   = "omtx-gpu-worker"
  display_name = "OMTX-Hub GPU worker"
  depends_on   = [google_project_service.enabled]
}

# Cloud Tasks signs each task's OIDC token as this account; it may invoke the worker, nothing else.
resource "google_service_account" "tasks_invoker" {
  account_id   = "omtx-tasks-invoker"
  display_name = "OMTX-Hub Cloud Tasks invoker"
  depends_on   = [google_project_service.enabled]
}

# Cloud Build runs deploy/cloudbuild.yaml as this account: push images, roll the two services.
resource "google_service_account" "deployer" {
  account_id   = "omtx-deployer"
  display_name = "OMTX-Hub Cloud Build deployer"
  depends_on   = [google_project_service.enabled]
}

# --- api ---------------------------------------------------------------------------------

# Firestore has no finer grant than the database's project.
resource "google_project_iam_member" "api_firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = google_service_account.api.member
}

resource "google_storage_bucket_iam_member" "api_objects" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.api.member
}

resource "google_cloud_tasks_queue_iam_member" "api_enqueues" {
  name     = google_cloud_tasks_queue.gpu.name
  location = google_cloud_tasks_queue.gpu.location
  role     = "roles/cloudtasks.enqueuer"
  member   = google_service_account.api.member
}

# /metrics reports the queue's depth by listing its tasks (cloudtasks.tasks.list), which the
# enqueuer role does not include.
resource "google_cloud_tasks_queue_iam_member" "api_lists_tasks" {
  name     = google_cloud_tasks_queue.gpu.name
  location = google_cloud_tasks_queue.gpu.location
  role     = "roles/cloudtasks.viewer"
  member   = google_service_account.api.member
}

# V4 signed URLs without a key file: the api signs through IAM's signBlob as itself.
resource "google_service_account_iam_member" "api_signs_as_itself" {
  service_account_id = google_service_account.api.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.api.member
}

# A task that carries the invoker's OIDC token may be created only by who may act as it.
resource "google_service_account_iam_member" "api_acts_as_invoker" {
  service_account_id = google_service_account.tasks_invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.api.member
}

# --- worker ------------------------------------------------------------------------------

resource "google_project_iam_member" "worker_firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = google_service_account.worker.member
}

resource "google_storage_bucket_iam_member" "worker_objects" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.worker.member
}

resource "google_storage_bucket_iam_member" "worker_reads_weights" {
  count  = var.worker_weights_bucket != "" ? 1 : 0
  bucket = var.worker_weights_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.worker.member
}

# --- tasks invoker -----------------------------------------------------------------------

# Authoritative for run.invoker on the worker: the invoker account and nobody else.
resource "google_cloud_run_v2_service_iam_binding" "worker_invokers" {
  name     = google_cloud_run_v2_service.worker.name
  location = google_cloud_run_v2_service.worker.location
  role     = "roles/run.invoker"
  members  = [google_service_account.tasks_invoker.member]
}

# --- deployer ----------------------------------------------------------------------------

resource "google_artifact_registry_repository_iam_member" "deployer_pushes" {
  repository = google_artifact_registry_repository.images.name
  location   = google_artifact_registry_repository.images.location
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.deployer.member
}

resource "google_cloud_run_v2_service_iam_member" "deployer_rolls" {
  for_each = {
    api    = google_cloud_run_v2_service.api.name
    worker = google_cloud_run_v2_service.worker.name
  }
  name     = each.value
  location = var.region
  role     = "roles/run.developer"
  member   = google_service_account.deployer.member
}

# Deploying a revision that runs as an account needs actAs on it.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    api    = google_service_account.api.name
    worker = google_service_account.worker.name
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}

# A build that runs as a user-chosen account writes its logs with that account's rights.
resource "google_project_iam_member" "deployer_logs" {
  project = var.project
  role    = "roles/logging.logWriter"
  member  = google_service_account.deployer.member
}
