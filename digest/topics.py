"""The sample digest's eight topics: the defaults behind `categories:` in config.yaml.

Keywords are lowercase phrases matched on word boundaries in the title and abstract; a trailing `*`
matches any word ending (`quantiz*`). The `arxiv` hints are arXiv categories that lean toward a topic.
`weight` scales a topic's score: specific topics (a medical application, an inference speed-up) win
over broad ones (vision, general AI) when a paper fits both, as a researcher would file it.
"""

DEFAULT_TOPICS: list[dict] = [
    {
        "name": "Inference acceleration",
        "description": "quantization, pruning, efficient attention kernels, serving systems",
        "keywords": [
            "quantization", "quantiz*", "inference", "kv cache", "kv-cache", "speculative decoding",
            "pruning", "prune*", "sparsity", "sparse attention", "efficient attention", "flashattention",
            "latency", "throughput", "speedup", "accelerat*", "inference cost", "serving", "token pruning",
            "token merging", "token reduction", "early exit", "model compression", "compress*",
            "low-bit", "4-bit", "8-bit", "int8", "fp8", "memory footprint", "edge device*", "on-device",
            "efficient inference", "decoding speed", "draft model", "mixture-of-experts inference",
            "kernel*", "gpu memory", "linear attention", "lightweight", "hybrid attention", "fast", "efficien*",
            "training-free compression", "flops", "memory-efficient", "long-context",
        ],
        "arxiv": ["cs.AR", "cs.DC", "cs.PF"],
        "weight": 1.3,
    },
    {
        "name": "Computer Vision",
        "description": "images, video and 3D: detection, segmentation, generation, reconstruction",
        "keywords": [
            "image*", "video*", "visual", "vision", "segmentation", "object detection", "detection",
            "3d", "point cloud*", "gaussian splatting", "nerf", "pose estimation", "depth estimation",
            "diffusion model*", "image generation", "video generation", "super-resolution", "tracking",
            "optical flow", "remote sensing", "pixel*", "camera", "scene*", "rendering", "convolutional",
            "vit", "vision transformer", "inpainting", "restoration", "dehazing", "denoising",
            "face*", "person re-identification", "lidar", "stereo", "occupancy", "semantic segmentation",
            "registration", "metric learning", "splatting", "subsurface scattering", "hyperspectral",
        ],
        "arxiv": ["cs.CV", "eess.IV", "cs.GR"],
        "weight": 0.85,
    },
    {
        "name": "LLM",
        "description": "large language models and NLP: evaluation, prompting, RAG, reasoning, safety",
        "keywords": [
            "large language model*", "language model*", "llm*", "gpt*", "prompt*", "in-context learning",
            "retrieval-augmented", "rag", "chain-of-thought", "hallucination*", "instruction tuning",
            "natural language", "nlp", "text", "question answering", "machine translation",
            "tokeniz*", "jailbreak*", "summarization", "dialogue", "chatbot*", "corpus", "corpora",
            "linguistic*", "sentiment", "named entity", "benchmark*", "reasoning", "transformer*",
            "speech", "multilingual", "low-resource language*", "qwen", "llama", "agentic", "llm agent*",
            "language agent*", "tool use", "tool-using", "workflow*", "world model*", "feedback",
            "embedding model*", "retrieval",
        ],
        "arxiv": ["cs.CL"],
        "weight": 1.0,
    },
    {
        "name": "General AI",
        "description": "agents, planning, knowledge, safety and society, explainability, graphs, theory",
        "keywords": [
            "agent*", "multi-agent", "planning", "knowledge graph*", "ontology", "logic*", "neuro-symbolic",
            "explainab*", "interpretab*", "fairness", "ethic*", "governance", "policy", "society",
            "causal*", "graph neural network*", "gnn*", "time series", "forecasting", "recommend*",
            "federated", "theorem", "generalization bound*", "optimization", "scientific discovery",
            "robot*", "autonomous", "safety", "trust*", "human-ai", "decision making", "game*",
        ],
        "arxiv": ["cs.AI", "cs.MA", "cs.LO", "cs.CY", "cs.HC", "cs.RO", "cs.IR", "stat.ML"],
        "weight": 0.85,
    },
    {
        "name": "Reinforcement Learning",
        "description": "policy optimization, reward models, RLHF/RLVR, bandits, offline and multi-agent RL",
        "keywords": [
            "reinforcement learning", "rl", "rlhf", "rlvr", "reward*", "policy optimization", "policy gradient",
            "grpo", "ppo", "dpo", "preference optimization", "q-learning", "markov decision process",
            "mdp", "bandit*", "offline rl", "actor-critic", "exploration", "value function",
            "verifiable reward*", "return*", "policy", "environment*", "marl",
            "multi-agent reinforcement learning", "on-policy", "off-policy", "motor control", "control",
        ],
        "arxiv": ["cs.RO", "cs.GT", "cs.MA"],
        "weight": 1.0,
    },
    {
        "name": "AI in Healthcare",
        "description": "medical imaging, clinical NLP, EHR, drug discovery, biomedicine, mental health",
        "keywords": [
            "medical", "clinical", "clinician*", "patient*", "health*", "disease*", "diagnos*", "hospital*",
            "radiology", "radiolog*", "ct", "mri", "x-ray", "ultrasound", "pathology", "histopatholog*",
            "tumor*", "cancer", "lesion*", "ehr", "electronic health record*", "biomedical", "drug*",
            "protein*", "molecul*", "genom*", "surgical", "surgery", "mental health", "depression",
            "ecg", "eeg", "brain", "therap*", "medicine", "cardiac", "retinal", "dermatolog*",
            "alzheimer*", "covid", "biomarker*", "cell*", "endoscop*", "glaucoma", "prostate", "nurse*",
            "midwi*", "rehabilitation", "emotional support", "psychiatr*", "abnormalit*", "organ*",
            "ophthalm*", "dental", "medical imaging", "medical image*",
        ],
        "arxiv": ["q-bio.QM", "eess.IV", "q-bio.NC", "physics.med-ph"],
        "weight": 1.5,
    },
    {
        "name": "Multimodal",
        "description": "vision-language and other multimodal models, benchmarks and alignment",
        "keywords": [
            "multimodal", "multi-modal", "vision-language", "vision language", "vlm*", "mllm*", "lvlm*",
            "image-text", "text-to-image", "text-to-video", "visual question answering", "vqa",
            "captioning", "caption*", "audio-visual", "cross-modal", "vision-language-action", "vla",
            "clip", "grounding", "modalit*", "text-image", "video-language", "visual instruction",
            "speech-text", "audio", "vision-language model*", "visual grounding", "visual reasoning",
            "video question answering", "video understanding", "sign language", "unified model*",
            "multimodal large language model*", "visual question*", "language-guided", "cross-view",
        ],
        "arxiv": ["cs.MM", "cs.SD", "eess.AS"],
        "weight": 1.3,
    },
    {
        "name": "Model training technique",
        "description": "optimizers, fine-tuning, distillation, data curation, pretraining, continual learning",
        "keywords": [
            "fine-tuning", "finetuning", "fine-tune*", "lora", "parameter-efficient", "peft", "adapter*",
            "optimizer*", "learning rate", "sgd", "adam*", "distillation", "knowledge distillation",
            "pretraining", "pre-training", "training data", "data curation", "synthetic data",
            "continual learning", "catastrophic forgetting", "curriculum", "scaling law*", "regularization",
            "self-supervised", "contrastive learning", "training", "convergence", "gradient*",
            "loss function", "data augmentation", "batch size", "warmup", "weight decay", "self-distillation",
            "trajectory synthesis", "data selection", "mixture of experts", "training recipe*",
        ],
        "arxiv": ["cs.LG", "stat.ML", "math.OC", "cs.NE"],
        "weight": 1.0,
    },
]
