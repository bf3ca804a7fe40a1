# Copy to terraform.tfvars (which Terraform reads by itself) and fill in. deploy/README.md
# builds the images first, so that the tags below exist when the services are created.
project          = "my-omtx-project"
region           = "us-central1"
api_image        = "us-central1-docker.pkg.dev/my-omtx-project/omtx/api:v1"
worker_image     = "us-central1-docker.pkg.dev/my-omtx-project/omtx/gpu-worker:v1"
frontend_origins = ["https://omtx.example.org"]
