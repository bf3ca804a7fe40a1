variable "project" {
  description = "The Google Cloud project id that holds everything."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud Tasks, the bucket, Redis and the registry. It must offer Cloud Run L4 GPUs (us-central1, europe-west1, europe-west4, asia-southeast1)."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Firestore's location; null: the region. Immutable once the database exists."
  type        = string
  default     = null
}

variable "firestore_database" {
  description = "The Firestore database id; '(default)' is what the SDKs open without being told."
  type        = string
  default     = "(default)"
}

variable "api_image" {
  description = "The api image for the first deploy (REGION-docker.pkg.dev/PROJECT/omtx/api:TAG). Later releases go through deploy/cloudbuild.yaml, so Terraform ignores later changes of the image."
  type        = string
}

variable "worker_image" {
  description = "The L4 worker image for the first deploy (REGION-docker.pkg.dev/PROJECT/omtx/gpu-worker:TAG); as api_image."
  type        = string
}

variable "frontend_origins" {
  description = "Browser origins of the frontend (scheme://host[:port], no path): the api's CORS and the bucket's CORS for signed downloads."
  type        = list(string)
  default     = []
}

variable "api_public_url" {
  description = "The api's public base URL (a custom domain); empty: its run.app URL."
  type        = string
  default     = ""
}

variable "jwt_issuer" {
  description = "The `iss` every HS256 JWT must carry (signed with the omtx-jwt-secret secret)."
  type        = string
  default     = "omtx-hub"
}

variable "jwt_audience" {
  description = "The `aud` every JWT must carry."
  type        = string
  default     = "omtx-api"
}

variable "api_max_instances" {
  description = "The most api instances at once (one stays warm)."
  type        = number
  default     = 10
}

variable "worker_weights_bucket" {
  description = "A bucket holding the Boltz weights to mount read-only at BOLTZ_CACHE (image built with _BAKE_BOLTZ_WEIGHTS=0); empty: the weights are baked into the image."
  type        = string
  default     = ""
}

variable "export_retention_days" {
  description = "Batch exports (CSV, JSON, SDF and their manifest) are deleted this many days after they were written; the api writes them again on request."
  type        = number
  default     = 30
}

variable "subnet_cidr" {
  description = "The range of the subnet Cloud Run's direct VPC egress takes addresses from (at least /26)."
  type        = string
  default     = "10.8.0.0/24"
}

variable "redis_memory_gib" {
  description = "Memorystore capacity: rate-limit windows and cost budgets only, so 1 GiB is plenty."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the Cloud Run services and the Firestore database."
  type        = bool
  default     = true
}
