# Unity native-plugin glue, compiled into the same shared library as the client
# (included from ../CMakeLists.txt when LSD_WITH_UNITY_GLUE is ON, the default).
#
# Optional: -DLSD_UNITY_PLUGIN_API_DIR=<Unity install>/Editor/Data/PluginAPI compiles against
# Unity's own IUnityInterface.h / IUnityGraphics.h instead of our declarations.
# On Linux/Android src/exports.map exports UnityPluginLoad and UnityPluginUnload beside lsd_*.

set(LSD_UNITY_PLUGIN_API_DIR "" CACHE PATH "Unity's PluginAPI folder (optional)")
set(_lsd_unity_dir ${CMAKE_CURRENT_LIST_DIR})

target_sources(lsd_bridge PRIVATE ${_lsd_unity_dir}/unity_glue.cpp)
target_include_directories(lsd_bridge PRIVATE ${_lsd_unity_dir})
if(LSD_UNITY_PLUGIN_API_DIR)
  target_include_directories(lsd_bridge PRIVATE ${LSD_UNITY_PLUGIN_API_DIR})
  target_compile_definitions(lsd_bridge PRIVATE LSD_USE_UNITY_HEADERS)
endif()
if(WIN32)
  # d3d11/d3d12 headers come with the Windows SDK (and mingw-w64); only COM calls on Unity's
  # objects are made (QueryInterface/GetDesc), so nothing extra is linked. With
  # LSD_REQUIRE_D3D_GLUE (scripts/build_windows.sh sets it) a missing header is a build error,
  # not a glue that silently answers "unsupported" on D3D11/D3D12.
  option(LSD_REQUIRE_D3D_GLUE "Fail the build when the D3D11/D3D12 glue cannot be compiled" OFF)
  if(LSD_REQUIRE_D3D_GLUE)
    target_compile_definitions(lsd_bridge PRIVATE LSD_REQUIRE_D3D_GLUE)
  endif()
endif()
install(FILES ${_lsd_unity_dir}/lsd_unity.h DESTINATION include/lsd_bridge)

if(LSD_BUILD_TESTS AND UNIX)
  # the glue as Unity loads it: inside liblsd_bridge, through its exported entry points
  add_executable(lsd_unity_glue_smoke_test ${_lsd_unity_dir}/unity_glue_smoke_test.cpp)
  target_include_directories(lsd_unity_glue_smoke_test PRIVATE ${_lsd_unity_dir} ${_lsd_unity_dir}/../include)
  target_link_libraries(lsd_unity_glue_smoke_test PRIVATE lsd_bridge ${CMAKE_DL_LIBS})
  add_test(NAME unity_glue_smoke COMMAND lsd_unity_glue_smoke_test)
  set_tests_properties(unity_glue_smoke PROPERTIES ENVIRONMENT "LSD_DISABLE_CUDA=1")
endif()
