# The whole OMTX-Hub footprint on Google Cloud. deploy/README.md walks from an empty project to
# a first batch; test/deploy/terraform.test.ts parses every file here and checks it against the
# code (the variables the api and the worker read, the queue settings, the Firestore indexes).
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.x: Cloud Run v2 GPUs (node_selector, gpu_zonal_redundancy_disabled) and Cloud Storage
      # volume mount options are in the GA provider from the 6.3x releases on.
      version = "~> 6.35"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

data "google_project" "this" {
  project_id = var.project
}
