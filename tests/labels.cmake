# CTest labels: every test carries exactly one (ctest -L <label>):
#   fast       in-process unit tests, seconds each (ctest -L fast: under two minutes)
#   reference  comparisons with the fixtures of tests/reference (NVlabs/edm)
#   cli        runs of the edm binary: options, errors, files
#   dist       several processes (c10d over Gloo, --nproc)
#   slow       training runs and interruptions, a minute or more each
# A test not listed below is `fast`. The lists are GoogleTest filters.
set(EDM_TESTS_reference
  "*NnReference*:*GenerateReference.*:*FrechetFixture.*:Sampler.ReproducesEveryReferenceCase:Sampler.IddpmGridMatchesReference:Rng.ReproducesReferenceBitForBit:DetectorTest.TorchScriptDetectorMatchesTheReference:GenerateCli.ReproducesReferenceCases*:ModelFileNn.SaveLoadRoundTripOfReferenceFile:Safetensors.ReadsEveryReferenceFile:PhemaReference.*:EDM2Primitives.*:*EDM2Network.*:EDM2Loss.MatchesReferenceWithGivenNoise:EDM2LearningRate.*:EDM2Autoguidance.SamplerMatchesReference:EDM2Autoguidance.GenerateWithGuideNetMatchesReference:TrainRecipe.*")
set(EDM_TESTS_dist
  "Dist.*:DistTrain.*:GenerateCli.TwoProcessesMakeTheSameImagesAsOne:FidTest.BuiltInDetectorOnFashionMnistAndGeneratedImages")
set(EDM_TESTS_slow
  "Train.ResumeIsExact:Train.SigkillNeverLeavesACorruptFile:Train.ResumingForOneMoreKimgEqualsOneRun:Train.TicksAsTheReferenceCountsThem:Train.SigintOrSigtermSavesAStateAndExits:ToyTest.TwoDimensionalModelLearnsTheData:DetectorTest.ShippedDetectorIsFoundAndAccurate:PhemaCli.TrainingWithEmaStdGivesSnapshotsThatReconstruct:PhemaCli.ResumedRunTracksTheSameEmas:FewStep.StochasticSamplersGiveTheGaussiansMeanAndVariance:DatasetCli.BuiltInFashionMnistMakesAZipThatTrainsWithLabels:EDM2Train.ShortRunUsesTheRecipeAndLoadsForGenerate:EDM2Train.ResumeIsExact:Likelihood.HutchinsonWithEnoughProbesGivesTheClosedFormDensity:DdpmCli.TrainCosineLearnedVarianceThenSampleBothWays:DdpmSampler.AncestralSamplingOfAGaussianFullAndRespaced:HardeningTrain.*")
set(EDM_TESTS_cli
  "Cli.*:GenerateCli.*:CpuBf16Cli.*:ClassifierGuidanceCli.*:DatasetCli.*:ServeCli.*:FidTest.*:ToyTest.CommandsWritePictures:Train.BadInputIsAOneLineError:Train.IddpmTrainingIsAUsageError:PhemaCli.*:AutoguidanceCli.*:EDM2Cli.*:EDM2Train.OptionsThatDoNotFitAreUsageErrors:LikelihoodCli.*:PcSamplerCli.*:DdpmCli.BadInputIsAOneLineError:DdpmCli.LikelihoodReportsTheVariationalBoundBesideTheOde:HardeningCli.*:AutoencoderCli.*:LatentCli.*:CascadeCli.*:StudyCli.*")

# Each test is discovered once, by the first group whose filter it matches.
set(_edm_taken "")
foreach(label reference dist slow cli)
  set(_filter "${EDM_TESTS_${label}}")
  if(_edm_taken)
    set(_filter "${_filter}-${_edm_taken}")
  endif()
  gtest_discover_tests(edm_tests TEST_FILTER "${_filter}" DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS ${label} TIMEOUT 1200)
  if(_edm_taken)
    set(_edm_taken "${_edm_taken}:${EDM_TESTS_${label}}")
  else()
    set(_edm_taken "${EDM_TESTS_${label}}")
  endif()
endforeach()
gtest_discover_tests(edm_tests TEST_FILTER "*-${_edm_taken}" DISCOVERY_TIMEOUT 120
  PROPERTIES LABELS fast TIMEOUT 1200)
