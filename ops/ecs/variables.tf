variable "region" {
  description = "AWS region of the cluster"
  type        = string
}

variable "name" {
  description = "Name of the service, task family and log group"
  type        = string
  default     = "integrations-service"
}

variable "image" {
  description = "Container image, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/integrations-service:1.0.0"
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster to run in"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (awsvpc)"
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups for the tasks: allow 8090 from the load balancer, and egress to MongoDB"
  type        = list(string)
}

variable "target_group_arn" {
  description = "ALB target group (target type ip, port 8090, health check /readyz); null for no load balancer"
  type        = string
  default     = null
}

variable "desired_count" {
  description = "Tasks to run; at least 2 for redundancy"
  type        = number
  default     = 2
}

variable "min_capacity" {
  type    = number
  default = 2
}

variable "max_capacity" {
  type    = number
  default = 10
}

variable "cpu_target_percent" {
  description = "Average CPU the autoscaling keeps the service at"
  type        = number
  default     = 70
}

variable "cpu" {
  type    = number
  default = 256
}

variable "memory" {
  type    = number
  default = 512
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "mongodb_uri_secret_arn" {
  description = "Secrets Manager secret holding MONGODB_URI"
  type        = string
}

variable "admin_tokens_secret_arn" {
  description = "Secrets Manager secret holding ADMIN_TOKENS (comma-separated); null runs open, which production refuses unless AUTH_DISABLED=true"
  type        = string
  default     = null
}

variable "read_tokens_secret_arn" {
  description = "Secrets Manager secret holding READ_TOKENS (comma-separated), for the bot runtime"
  type        = string
  default     = null
}

variable "gateway_tokens_secret_arn" {
  description = "Secrets Manager secret holding GATEWAY_TOKENS (comma-separated): the token of a gateway that signs people in and names them in X-Forwarded-User"
  type        = string
  default     = null
}

variable "encryption_key_secret_arn" {
  description = "Secrets Manager secret holding ENCRYPTION_KEY (32 bytes, base64)"
  type        = string
  default     = null
}

variable "encryption_key_previous_secret_arn" {
  description = "Secrets Manager secret holding ENCRYPTION_KEY_PREVIOUS, during a key rotation"
  type        = string
  default     = null
}

variable "encryption_key_next_secret_arn" {
  description = "Secrets Manager secret holding ENCRYPTION_KEY_NEXT: the key every task learns before any task seals with it (a rotation's first rollout)"
  type        = string
  default     = null
}

variable "allowed_hosts" {
  description = "ALLOWED_HOSTS: the host names clients reach the service by (the ALB's name, the service-discovery name), comma-separated"
  type        = string
}

variable "settings" {
  description = "Non-secret configuration (see the README's configuration table); merged over the defaults in main.tf"
  type        = map(string)
  default     = {}
}
