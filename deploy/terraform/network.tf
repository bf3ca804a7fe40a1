# A VPC of our own, so an empty project needs nothing that may be missing (such as the default
# network). The api reaches Redis through Cloud Run's direct VPC egress into this subnet.
resource "google_compute_network" "vpc" {
  name                    = "omtx"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.enabled]
}

resource "google_compute_subnetwork" "run" {
  name                     = "omtx-run"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true
}

# Shares rate-limit windows and cost budgets between api instances (OMTX_REDIS_URL). Basic
# tier: losing it resets the counters, nothing else. No AUTH string, so the URL holds no
# secret: only this VPC reaches the instance's private address.
resource "google_redis_instance" "rate_limits" {
  name               = "omtx-rate-limits"
  tier               = "BASIC"
  memory_size_gb     = var.redis_memory_gib
  region             = var.region
  redis_version      = "REDIS_7_2"
  authorized_network = google_compute_network.vpc.id
  connect_mode       = "DIRECT_PEERING"
  depends_on         = [google_project_service.enabled]
}
