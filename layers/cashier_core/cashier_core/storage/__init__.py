"""DynamoDB storage. The only code in the layer that talks to DynamoDB."""
