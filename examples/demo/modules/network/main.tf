terraform {
  required_providers {
    filestate = { source = "example/filestate" }
  }
}

resource "filestate_object" "subnet" {
  count       = 2
  name        = "subnet-${count.index}"
  description = "private subnet ${count.index}"
  tags        = { tier = "private" }
}
