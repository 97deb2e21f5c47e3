"""Sample-quality metrics: distances, manifold metrics, class scores, diversity, extractors, `evaluate`."""

from tfgan_kit.metrics.classes import (
    class_coverage,
    classifier_score,
    mixture_mode_stats,
    mode_score,
    stacked_mode_breakdown,
)
from tfgan_kit.metrics.distances import (
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
    mmd2_unbiased,
    polynomial_kernel,
)
from tfgan_kit.metrics.diversity import class_stats, diversity_stats
from tfgan_kit.metrics.evaluation import (
    ALL_METRICS,
    FEATURE_METRICS,
    LOWER_IS_BETTER,
    PROBABILITY_METRICS,
    evaluate,
    generate_images,
    real_images,
    score_features,
)
from tfgan_kit.metrics.extractors import (
    DIGIT_CLASSIFIERS,
    STACKED_CLASSIFIERS,
    FeatureExtractor,
    bundled_classifier_name,
    default_extractor,
    digit_classifier_metadata,
    feature_extractor,
    inception_weights_path,
    load_digit_classifier,
)
from tfgan_kit.metrics.manifold import density_coverage, precision_recall

__all__ = [
    "frechet_distance",
    "frechet_distance_from_stats",
    "kernel_inception_distance",
    "mmd2_unbiased",
    "polynomial_kernel",
    "precision_recall",
    "density_coverage",
    "classifier_score",
    "mode_score",
    "class_coverage",
    "mixture_mode_stats",
    "stacked_mode_breakdown",
    "diversity_stats",
    "class_stats",
    "evaluate",
    "score_features",
    "generate_images",
    "real_images",
    "ALL_METRICS",
    "FEATURE_METRICS",
    "PROBABILITY_METRICS",
    "LOWER_IS_BETTER",
    "DIGIT_CLASSIFIERS",
    "STACKED_CLASSIFIERS",
    "bundled_classifier_name",
    "FeatureExtractor",
    "feature_extractor",
    "default_extractor",
    "load_digit_classifier",
    "digit_classifier_metadata",
    "inception_weights_path",
]
