# A demo stack for driftlog, using the filestate test provider: each object's "real" state is
# a JSON file under store/, so scripts/demo.sh can drift it the way a console edit would.
terraform {
  required_providers {
    filestate = { source = "example/filestate", version = "0.1.0" }
  }
}

provider "filestate" {
  directory = "store"
}

resource "filestate_object" "web_sg" {
  name        = "web-sg"
  description = "web tier ingress"
  tags        = { env = "prod", team = "platform", cost_center = "cc-104" }
  rule {
    port        = 443
    cidr_blocks = ["10.0.0.0/8", "10.20.0.0/16"]
  }
  rule {
    port        = 22
    cidr_blocks = ["10.99.0.0/24"]
  }
}

resource "filestate_object" "db" {
  name    = "db-main"
  size    = 100
  enabled = true
  secret  = "demo-password-before"
  tags    = { env = "prod" }
}

resource "filestate_object" "worker" {
  count = 3
  name  = "worker-${count.index}"
  size  = 2
  tags  = { role = "worker" }
  # The autoscaler owns the size: its changes are not drift.
  lifecycle {
    ignore_changes = [size]
  }
}

resource "filestate_object" "bucket" {
  for_each = toset(["logs", "audit trail"])
  name     = "bucket-${replace(each.key, " ", "-")}"
  tags     = { purpose = each.key }
}

module "network" {
  source = "./modules/network"
}
