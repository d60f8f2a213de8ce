"""Large language models beside the pipelines: a chat-endpoint labeler (``client``) and a comparison (``compare``)."""
